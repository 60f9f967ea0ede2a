"""The benchmark of the etcd charm on the local model (see __main__)."""
