"""Security: who may do what (authentication, policies), and proof of what happened (the audit hash chain).

Depends on core only; the API, the CLI and the App wire it in.
"""
