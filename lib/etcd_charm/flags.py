"""The reactive flags this charm sets that the wiring (``reactive/etcd.py``) needs before it
imports the rest of the charm."""

#: this charm installed etcd (the snap), or adopted a unit whose etcd runs from the snap
INSTALLED = "etcd.snap.installed"
