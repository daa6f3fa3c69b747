"""What several sink types share: the fsync'd spool of the sinks that deliver from a background
thread (Elasticsearch/OpenSearch, syslog). Not a sink type itself: sink packages import it, it
imports no sink package."""
