#!/bin/sh
echo "coverage unsupported in the offline build; use gcov/lcov" >&2
exit 1
