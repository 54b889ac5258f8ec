"""A small undecorated project: block functions, a layer and plain helpers
(see README.md)."""
