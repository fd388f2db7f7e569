"""Swappable blocks: interfaces and their implementations.

Every concrete block is imported here so that ``Block.load("type/name")``
finds its class (Prefect only resolves classes that have been imported).
"""
