"""The rates service: converts an amount between currencies over HTTP.

Python standard library only. ``python3 -m rates`` serves on $PORT (see rates.config).
"""
