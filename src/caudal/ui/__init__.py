"""The web UI (``caudal ui``): one Streamlit app, the platform's pages (``views/``) and each
registered pipeline's page (in the pipeline's folder), listed by ``pages.py``."""
