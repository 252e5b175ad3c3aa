//! A cloud object store (through `object_store`) as a [`FileStore`]: uploads are streamed
//! as multipart uploads, direct uploads and downloads are presigned URLs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{
    Attribute, AttributeValue, Attributes, GetOptions, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, WriteMultipart,
};

use super::{
    BoxFuture, FileStore, ObjectInfo, ObjectWriter, StoreError, StoreResult, UploadTarget,
};

/// Parts uploaded at once by a streamed upload: with `object_store`'s 5 MiB parts an
/// upload holds at most about (this + 1) × 5 MiB in memory, whatever the file's size.
const PARTS_IN_FLIGHT: usize = 2;

/// A store that can also presign requests (S3, R2, GCS, Azure).
pub struct CloudStore<S> {
    store: Arc<S>,
    disposition_param: &'static str,
}

impl<S> CloudStore<S> {
    /// Wraps a configured client; `disposition_param` is the signed query parameter that
    /// sets a download's `Content-Disposition` (`response-content-disposition` on S3).
    pub fn new(store: Arc<S>, disposition_param: &'static str) -> Self {
        Self {
            store,
            disposition_param,
        }
    }
}

/// Unavailable when the store could not be reached or did not answer in time (after
/// `object_store`'s retries), failed when it answered with an error.
impl From<object_store::Error> for StoreError {
    fn from(error: object_store::Error) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        let mut unreachable = false;
        while let Some(current) = cause {
            if let Some(http) = current.downcast_ref::<HttpError>() {
                unreachable |= matches!(
                    http.kind(),
                    HttpErrorKind::Connect
                        | HttpErrorKind::Request
                        | HttpErrorKind::Timeout
                        | HttpErrorKind::Interrupted
                );
            }
            cause = current.source();
        }
        if unreachable {
            Self::Unavailable(error.into())
        } else {
            Self::Failed(error.into())
        }
    }
}

/// A multipart upload in progress.
struct CloudWriter {
    upload: WriteMultipart,
}

impl ObjectWriter for CloudWriter {
    fn write(&mut self, chunk: Bytes) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            self.upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            self.upload.write(&chunk);
            Ok(())
        })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move {
            self.upload.finish().await?;
            Ok(())
        })
    }

    fn abort(self: Box<Self>) -> BoxFuture<'static, StoreResult<()>> {
        Box::pin(async move { Ok(self.upload.abort().await?) })
    }
}

impl<S: ObjectStore + Signer> FileStore for CloudStore<S> {
    fn writer<'a>(
        &'a self,
        key: &'a str,
        content_type: &'a str,
    ) -> BoxFuture<'a, StoreResult<Box<dyn ObjectWriter>>> {
        Box::pin(async move {
            let attributes = Attributes::from_iter([(
                Attribute::ContentType,
                AttributeValue::from(content_type.to_owned()),
            )]);
            let options = PutMultipartOptions {
                attributes,
                ..PutMultipartOptions::default()
            };
            let upload = self
                .store
                .put_multipart_opts(&Path::from(key), options)
                .await?;
            let writer: Box<dyn ObjectWriter> = Box::new(CloudWriter {
                upload: WriteMultipart::new(upload),
            });
            Ok(writer)
        })
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Option<ObjectInfo>>> {
        Box::pin(async move {
            let options = GetOptions {
                head: true,
                ..GetOptions::default()
            };
            match self.store.get_opts(&Path::from(key), options).await {
                Ok(result) => Ok(Some(ObjectInfo {
                    size: result.meta.size,
                    content_type: result
                        .attributes
                        .get(&Attribute::ContentType)
                        .map(|value| value.as_ref().to_owned()),
                })),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(error) => Err(error.into()),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            match self.store.delete(&Path::from(key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(error) => Err(error.into()),
            }
        })
    }

    fn upload_target<'a>(
        &'a self,
        key: &'a str,
        content_type: &'a str,
        _size: u64,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<UploadTarget>> {
        Box::pin(async move {
            // The signature covers the content type; the size is not part of a presigned
            // PUT, so completing the upload checks it with a HEAD.
            let mut signed_headers = HeaderMap::new();
            signed_headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type).map_err(anyhow::Error::from)?,
            );
            let mut options = SignedUrlOptions::default();
            options.signed_headers = signed_headers;
            let url = self
                .store
                .signed_url_opts(Method::PUT, &Path::from(key), ttl, &options)
                .await?;
            Ok(UploadTarget {
                method: "PUT",
                url: url.to_string(),
                headers: BTreeMap::from([("content-type".to_owned(), content_type.to_owned())]),
                fields: BTreeMap::new(),
            })
        })
    }

    fn download_url<'a>(
        &'a self,
        key: &'a str,
        filename: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, StoreResult<String>> {
        Box::pin(async move {
            let mut options = SignedUrlOptions::default();
            options.extra_query = vec![(
                self.disposition_param.to_owned(),
                format!("attachment; filename=\"{filename}\""),
            )];
            let url = self
                .store
                .signed_url_opts(Method::GET, &Path::from(key), ttl, &options)
                .await?;
            Ok(url.to_string())
        })
    }
}
