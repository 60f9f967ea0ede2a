"""Tests of the localjuju package."""
