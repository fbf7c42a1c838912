"""Tests of the tripplite source, over a replay of the HID seam."""
