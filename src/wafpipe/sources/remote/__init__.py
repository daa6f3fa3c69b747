"""What every remote source (S3, SQS, Azure Blob, SFTP, the Imperva log API) shares: the bounded
spool its files are fetched into (:mod:`.spool`)."""
