#!/bin/sh
# One-shot (minio/mc image): duban's bucket with versioning on, and duban's own access key,
# allowed that bucket and nothing else. Safe to run again.
set -eu

mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "local/$MINIO_BUCKET"
# Versioning is the files' backup: an overwritten or deleted blob keeps its earlier versions.
mc version enable "local/$MINIO_BUCKET"

policy=/tmp/duban-files.json
cat > "$policy" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow",
     "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts"],
     "Resource": ["arn:aws:s3:::$MINIO_BUCKET/*"]},
    {"Effect": "Allow",
     "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
     "Resource": ["arn:aws:s3:::$MINIO_BUCKET"]}
  ]
}
JSON
mc admin policy create local duban-files "$policy"
mc admin user add local "$DUBAN_OBJECTS__ACCESS_KEY" "$DUBAN_OBJECTS__SECRET_KEY"
# On a rerun the policy is attached already, which mc reports as an error.
mc admin policy attach local duban-files --user "$DUBAN_OBJECTS__ACCESS_KEY" || true
echo "bucket $MINIO_BUCKET ready (versioned), access key $DUBAN_OBJECTS__ACCESS_KEY allowed"
