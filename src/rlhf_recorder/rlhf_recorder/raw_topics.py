# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Subscribing to configured topics as serialised messages once they appear in the graph (recorder, live view)."""

from __future__ import annotations

import functools
import importlib


def message_class(msgtype: str):
    """The Python class of ``pkg/msg/Name``."""
    package, kind, name = msgtype.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), name)


def subscribe_appeared(node, wanted: list[str], subscribed: dict[str, str], callback, qos_for) -> list[str]:
    """Subscribe to the ``wanted`` topics not in ``subscribed`` that the graph has now; return them.

    Subscriptions are raw (CDR bytes, no deserialisation): ``callback(topic, data)`` gets each message,
    ``qos_for(topic)`` gives the QoS. ``subscribed`` (topic -> type) gains every topic subscribed to; a topic whose
    type cannot be loaded is logged and tried again at the next call.
    """
    missing = [t for t in wanted if t not in subscribed]
    if not missing:
        return []
    graph = dict(node.get_topic_names_and_types())
    added = []
    for topic in missing:
        types = graph.get(topic)
        if not types:
            continue
        msgtype = types[0]
        if len(types) > 1:
            node.get_logger().warn(f'topic {topic} has several types {types}; using {msgtype}')
        try:
            cls = message_class(msgtype)
        except (ImportError, AttributeError, ValueError) as err:
            node.get_logger().error(f'topic {topic}: cannot load message type {msgtype}: {err}')
            continue
        node.create_subscription(cls, topic, functools.partial(callback, topic), qos_for(topic), raw=True)
        subscribed[topic] = msgtype
        added.append(topic)
    return added
