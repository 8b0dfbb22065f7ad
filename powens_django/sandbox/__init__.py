"""A stateful fake of the Powens API, speaking its wire format over real HTTP.

It imports nothing from the rest of ``powens_django``: it is the other side of the
wire, so it can never agree with a bug in the client.
"""
