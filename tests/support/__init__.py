"""What the tests and the benches share: the collection made importable, the KINC payload's modules
(``payload``), one way to run ansible-playbook, the throw-away federations and host "clouds" the integration
tests deploy, and the drills run on them.

Importing this package makes ``ansible_collections.cloudflock.htcondor`` importable (see ``collection``), so a
bench needs only the repository on sys.path. No module here is a test module, and no test module is
imported by another: what two of them need lives here.
"""

from .collection import BIN, COLLECTIONS, REPO, collections_env, ensure_collection_link

ensure_collection_link()

__all__ = ["BIN", "COLLECTIONS", "REPO", "collections_env", "ensure_collection_link"]
