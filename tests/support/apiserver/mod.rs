//! An in-process Kubernetes API server test double (real HTTP), generic over kinds.
