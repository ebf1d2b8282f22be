#!/bin/sh
# The demo application's entry point. A real appliance starts its service here.
echo "demo application running"
