__version__ = "0.1.0"

# The documentation site: the project's metadata and the SARIF rules' helpUri link into it.
DOCS_URL = "https://shapeguard-keras.readthedocs.io/en/latest/"
