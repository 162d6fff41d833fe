"""The wheelhouse: fetch, verify, build pure sdists, native plans and builds."""
