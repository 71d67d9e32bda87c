namespace Cluster.Client.Blobs;

/// <summary>An uploaded blob: its unguessable id and when it expires.</summary>
/// <param name="BlobId">The id to download it by.</param>
/// <param name="ExpiresAt">When the server deletes it (Unix ms).</param>
public sealed record UploadedBlob(string BlobId, long ExpiresAt);
