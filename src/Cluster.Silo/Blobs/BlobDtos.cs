namespace Cluster.Silo.Blobs;

/// <summary>The answer to <c>POST /v1/blobs</c>.</summary>
/// <param name="BlobId">The blob's id, base64url of 16 random bytes.</param>
/// <param name="ExpiresAt">Unix ms after which the blob is no longer served.</param>
public sealed record BlobCreatedResponse(string BlobId, long ExpiresAt);
