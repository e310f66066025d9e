"""Shared fixtures for the data tests."""

from __future__ import annotations

import pytest
import xarray as xr

from sim.data.synthetic import generate_population


@pytest.fixture(scope="session")
def default_population() -> xr.Dataset:
    """The default synthetic population: 20,000 firms, seed 0."""
    return generate_population()
