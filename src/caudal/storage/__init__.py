"""Object stores behind one small interface: a local folder (default) or any S3 endpoint."""
