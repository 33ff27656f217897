#!/bin/sh
echo "releasing $1"
