"""Open311 GeoReport v2 at /open311/v2/: public categories as services, their tickets as
service requests, filing requests through the intake (see views and services)."""
