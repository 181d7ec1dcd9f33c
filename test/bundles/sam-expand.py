"""Expands infra/template.yaml with the SAM translator (aws-sam-translator from
PyPI) and prints the CloudFormation template CloudFormation would deploy.

CodeUri paths become placeholder S3 URIs, as `sam deploy` uploads them; the
template uses no managed policy names, so no IAM lookup is needed.
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoPolicyLookups:
    def load(self):
        return {}


def main(path):
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://pgmint-artifacts/" + props["CodeUri"].strip("./")
    # The translator wants a region for pseudo parameters; nothing here depends on which.
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    json.dump(transform(template, {}, NoPolicyLookups()), sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
