"""What several sink types share: the fsync'd spool of the sinks that deliver from a background
thread (:mod:`.spool`: Elasticsearch/OpenSearch, syslog, Splunk HEC), the replay marks and the
spool-then-send shape of the receivers that cannot tell a repeat (:mod:`.marks`, :mod:`.spooling`:
syslog, Splunk HEC), and the senders' counters and backoff (:mod:`.sending`). Not a sink type
itself: sink packages import it, it imports no sink package."""
