"""The benchmark and the load generator of the rates service.

Standard library only, and nothing imported from the ``rates`` package: a candidate may change
``rates``, and a measuring tool that imported it could be made to report whatever the candidate
wants. The benchmark starts the service as a separate process instead (``python3 -m rates``).
"""
