"""memstream's HTTP API: MemOS-compatible endpoints and the native ``/v1`` REST API.

``memstream serve`` runs ``api.server.create_app`` under uvicorn. The modules:
``auth`` (keys, app scoping), ``backend`` (the runtime shared by the handlers, the
projection catch-up and the in-process queue), ``publisher`` (Kafka), ``memos`` and
``rest`` (the endpoints), ``server`` (app creation, lifespan, limits, errors).
"""
