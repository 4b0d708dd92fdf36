"""LoCoMo retrieval evaluation: conversion to envelopes and recall@k."""
