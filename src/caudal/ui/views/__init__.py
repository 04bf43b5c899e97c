"""The platform's own page scripts (home, cluster); each pipeline's page lives in its folder.

(Not named ``pages/``: Streamlit would also serve a folder of that name beside the app by
itself, bypassing ``st.navigation`` and the app's page setup.)
"""
