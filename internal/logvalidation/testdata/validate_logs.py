"""Runs the AWS CLI v1's own validate-logs code over the scenarios
awscli_test.go writes, and prints what it found.

Each scenario is a JSON file: the buckets' objects and metadata, each
region's public keys, the trail and the window. The CLI's command runs once
per source region, as `aws cloudtrail validate-logs --region <region>
--verbose` would, with its S3 and CloudTrail clients replaced by ones that
answer from the scenario. One JSON line per scenario and region goes to
stdout: the CLI's counts and its output lines, parsed.
"""

import base64
import contextlib
import glob
import io
import json
import os
import re
import sys

from awscli.customizations.cloudtrail import validation
from botocore.exceptions import ClientError


class Body:
    def __init__(self, data):
        self._data = io.BytesIO(data)

    def read(self, n=-1):
        return self._data.read(n)


class S3:
    """get_object and the list_objects paginator, over the scenario's buckets."""

    def __init__(self, buckets):
        self._buckets = buckets

    def get_object(self, Bucket, Key):
        obj = self._buckets.get(Bucket, {}).get(Key)
        if obj is None:
            raise ClientError({'Error': {'Code': 'NoSuchKey', 'Message': 'The specified key does not exist.'}}, 'GetObject')
        return {'Body': Body(obj[0]), 'Metadata': dict(obj[1])}

    def get_paginator(self, name):
        assert name == 'list_objects', name
        buckets = self._buckets

        class Pages:
            def __init__(self, keys):
                self._keys = keys

            def search(self, expression):
                assert expression == 'Contents[*].Key', expression
                return iter(self._keys)

        class Paginator:
            def paginate(self, Bucket, Marker, Prefix):
                return Pages(sorted(k for k in buckets[Bucket] if k.startswith(Prefix) and k > Marker))

        return Paginator()


class S3Clients:
    def __init__(self, buckets):
        self._client = S3(buckets)

    def get_client(self, bucket):
        return self._client


class CloudTrail:
    """ListPublicKeys: the region's keys whose validity overlaps the range."""

    def __init__(self, keys):
        self._keys = keys

    def list_public_keys(self, StartTime, EndTime):
        start, end = StartTime.timestamp(), EndTime.timestamp()
        return {'PublicKeyList': [{'Value': k['value'], 'Fingerprint': k['fingerprint']}
                                  for k in self._keys if not (k['start'] > end or k['end'] < start)]}


def run(scenario, buckets, region):
    cmd = validation.CloudTrailValidateLogs(None)
    cmd.trail_arn = f"arn:aws:cloudtrail:{scenario['home']}:{scenario['account']}:trail/{scenario['trail']}"
    cmd.is_verbose = True
    cmd.start_time = validation.normalize_date(validation.parse_date(scenario['start']))
    cmd.end_time = validation.normalize_date(validation.parse_date(scenario['end']))
    cmd.s3_client_provider = S3Clients(buckets)
    cmd._source_region = region
    cmd.organization_client = cmd.cloudtrail_client = None

    # The command builds its traverser from describe-trails and the
    # organization's id; the scenario names both.
    def traverser(on_invalid, on_gap, on_missing, **_):
        provider = validation.DigestProvider(
            s3_client_provider=cmd.s3_client_provider, account_id=scenario['account'], trail_name=scenario['trail'],
            trail_home_region=scenario['home'], trail_source_region=region,
            organization_id=scenario['organization'] or None)
        return validation.DigestTraverser(
            digest_provider=provider, starting_bucket=scenario['bucket'], starting_prefix=scenario['prefix'] or None,
            public_key_provider=validation.PublicKeyProvider(CloudTrail(scenario['keys'].get(region) or [])),
            on_invalid=on_invalid, on_gap=on_gap, on_missing=on_missing)

    validation.create_digest_traverser = traverser
    out, err = io.StringIO(), io.StringIO()
    crash = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cmd._call()
        except Exception as e:  # the CLI stops with an error: the scenario says so
            crash = repr(e)

    problems, gaps, valid, other = [], [], [], []
    for line in err.getvalue().splitlines():
        if not line:
            continue
        m = re.match(r'(?:\(backfill\) )?(Digest|Log) file\ts3://[^/]+/(.*)\tINVALID: (.*)$', line)
        if m:
            problems.append([m.group(1).lower(), m.group(2), m.group(3)])
            continue
        m = re.match(r'(\(backfill\) )?No log files were delivered by CloudTrail between (\S+) and (\S+)$', line)
        if m:
            gaps.append([m.group(2), m.group(3), bool(m.group(1))])
            continue
        other.append(line)
    for line in out.getvalue().splitlines():
        m = re.match(r'(?:\(backfill\) )?(Digest|Log) file\ts3://[^/]+/(.*)\tvalid$', line)
        if m:
            valid.append([m.group(1).lower(), m.group(2)])
    found = re.search(r'Results found for (\S+) to (\S+):', out.getvalue())
    return {
        'scenario': scenario['name'], 'region': region, 'crash': crash, 'other': other,
        'counts': {
            'digests_valid': cmd._valid_digests + cmd._valid_backfill_digests,
            'digests_invalid': cmd._invalid_digests + cmd._invalid_backfill_digests,
            'backfill_digests_valid': cmd._valid_backfill_digests,
            'backfill_digests_invalid': cmd._invalid_backfill_digests,
            'logs_valid': cmd._valid_logs,
            'logs_invalid': cmd._invalid_logs,
        },
        'problems': problems, 'gaps': gaps, 'valid': sorted(valid),
        'found': [found.group(1), found.group(2)] if found else None,
    }


def main(directory):
    for path in sorted(glob.glob(os.path.join(directory, '*.json'))):
        with open(path) as f:
            scenario = json.load(f)
        buckets = {name: {o['key']: (base64.b64decode(o['body']), o['metadata'] or {}) for o in objects}
                   for name, objects in scenario['buckets'].items()}
        for region in scenario['regions']:
            print(json.dumps(run(scenario, buckets, region)))


if __name__ == '__main__':
    main(sys.argv[1])
