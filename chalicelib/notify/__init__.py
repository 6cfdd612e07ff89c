"""Telling people when something changes: signed webhooks and owner e-mails.

Changes flow from DynamoDB Streams (``events``) to a fan-out (``fanout``: one delivery per
subscribed endpoint, owner alerts) to a queue and a delivering function (``delivery``).
Workers only write DynamoDB: they never wait on a webhook.
"""
