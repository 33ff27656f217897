#!/bin/sh
echo "deploying $1 of $2"
