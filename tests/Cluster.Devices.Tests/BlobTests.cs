using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Devices.Tests;

[Collection(SharedSilo.Name)]
public sealed class BlobTests(SiloFixture fixture)
{
    private TestSilo Silo => fixture.Silo;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Upload_SeveralChunks_AnyDeviceDownloadsTheSameBytes()
    {
        var uploader = await TestAccounts.RegisterAsync(Silo);
        var reader = await TestAccounts.RegisterAsync(Silo);
        using var upload = uploader.CreateClient(Silo);
        using var download = reader.CreateClient(Silo);
        // Two full chunks of 1 MiB and a short third one.
        var content = RandomNumberGenerator.GetBytes((2 * 1024 * 1024) + 12345);
        var before = DateTimeOffset.UtcNow;

        using var posted = await upload.PostAsync("/v1/blobs", Blobs.Content(content), Cancel);
        var created = (await posted.Content.ReadFromJsonAsync<JsonObject>(Cancel))!;
        using var response = await download.GetAsync($"/v1/blobs/{(string)created["blobId"]!}", Cancel);
        var bytes = await response.Content.ReadAsByteArrayAsync(Cancel);

        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        Assert.Equal($"/v1/blobs/{(string)created["blobId"]!}", posted.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(content.Length, response.Content.Headers.ContentLength);
        Assert.Equal(content, bytes);
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds((long)created["expiresAt"]!);
        Assert.InRange(expiresAt, before + TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1), DateTimeOffset.UtcNow + TimeSpan.FromDays(7));
    }

    [Fact]
    public async Task Upload_WithoutContentLength_StoredWhole()
    {
        var device = await TestAccounts.RegisterAsync(Silo);
        using var http = device.CreateClient(Silo);
        var content = RandomNumberGenerator.GetBytes(1024 * 1024 + 1);

        using var request = new StreamContent(new UnknownLengthStream(content));
        using var response = await http.PostAsync("/v1/blobs", request, Cancel);
        var created = await response.Content.ReadFromJsonAsync<JsonObject>(Cancel);
        var bytes = await http.GetByteArrayAsync($"/v1/blobs/{(string)created!["blobId"]!}", Cancel);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(content, bytes);
    }

    [Fact]
    public async Task Upload_ManyBlobs_IdsDistinctAndUnguessable()
    {
        var device = await TestAccounts.RegisterAsync(Silo);
        using var http = device.CreateClient(Silo);

        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var (_, created) = await Blobs.UploadAsync(http, [(byte)i], Cancel);
            ids.Add((string)created["blobId"]!);
        }

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id => Assert.Matches("^[A-Za-z0-9_-]{22,}$", id));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("nope")]
    public async Task Download_UnknownId_NotFound(string? blobId)
    {
        var device = await TestAccounts.RegisterAsync(Silo);
        using var http = device.CreateClient(Silo);

        using var response = await http.GetAsync($"/v1/blobs/{blobId ?? Provisioning.UnusedAddress()}", Cancel);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", await Provisioning.ErrorOf(response, Cancel));
    }

    [Fact]
    public async Task Blobs_Unauthenticated_Unauthorized()
    {
        var device = await TestAccounts.RegisterAsync(Silo);
        using var http = device.CreateClient(Silo);
        var (_, created) = await Blobs.UploadAsync(http, [1, 2, 3], Cancel);
        using var anonymous = Silo.CreateHttpClient();

        using var upload = await anonymous.PostAsync("/v1/blobs", new ByteArrayContent([1, 2, 3]), Cancel);
        using var download = await anonymous.GetAsync($"/v1/blobs/{(string)created["blobId"]!}", Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, upload.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, download.StatusCode);
        Assert.Equal("unauthorized", await Provisioning.ErrorOf(download, Cancel));
    }
}

/// <summary>Blobs on a silo of its own: a small size limit, a fake clock.</summary>
public sealed class BlobLimitTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Upload_OverConfiguredLimit_PayloadTooLarge()
    {
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Settings = new Dictionary<string, string> { ["Blobs:MaxBytes"] = "1000" },
        }, Cancel);
        var device = await TestAccounts.RegisterAsync(silo);
        using var http = device.CreateClient(silo);

        var (atLimit, _) = await Blobs.UploadAsync(http, new byte[1000], Cancel);
        using var declared = await http.PostAsync("/v1/blobs", Blobs.Content(new byte[1001]), Cancel);
        using var streamed = await http.PostAsync("/v1/blobs", new StreamContent(new UnknownLengthStream(new byte[5000])), Cancel);

        Assert.Equal(HttpStatusCode.Created, atLimit);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal("payload_too_large", await Provisioning.ErrorOf(declared, Cancel));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, streamed.StatusCode);
        Assert.Equal("payload_too_large", await Provisioning.ErrorOf(streamed, Cancel));
    }

    [Fact]
    public async Task Upload_OverAccountBlobCount_QuotaExceededWithRetryAfterAndOthersUnaffected()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Time = time,
            Settings = new Dictionary<string, string> { ["Blobs:MaxBlobsPerAccount"] = "2" },
        }, Cancel);
        var owner = await TestAccounts.RegisterAsync(silo);
        var companion = await TestAccounts.AddCompanionAsync(silo, owner);
        var other = await TestAccounts.RegisterAsync(silo);
        using var http = owner.CreateClient(silo);
        using var companionHttp = companion.CreateClient(silo);
        using var otherHttp = other.CreateClient(silo);

        var (_, first) = await Blobs.UploadAsync(http, [1], Cancel);
        time.Advance(TimeSpan.FromHours(1));
        await Blobs.UploadAsync(companionHttp, [2], Cancel);
        using var refused = await http.PostAsync("/v1/blobs", Blobs.Content([3]), Cancel);
        using var refusedCompanion = await companionHttp.PostAsync("/v1/blobs", new StreamContent(new UnknownLengthStream([3])), Cancel);
        var (otherStatus, _) = await Blobs.UploadAsync(otherHttp, [4], Cancel);
        using var download = await otherHttp.GetAsync($"/v1/blobs/{(string)first["blobId"]!}", Cancel);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("blob_quota_exceeded", await Provisioning.ErrorOf(refused, Cancel));
        // Room is made when the oldest blob expires: 7 days after its upload, an hour ago.
        Assert.Equal(TimeSpan.FromDays(7) - TimeSpan.FromHours(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.TooManyRequests, refusedCompanion.StatusCode);
        Assert.Equal(HttpStatusCode.Created, otherStatus);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal([1], await download.Content.ReadAsByteArrayAsync(Cancel));

        time.Advance(TimeSpan.FromDays(7) - TimeSpan.FromHours(1));
        var (afterExpiry, _) = await Blobs.UploadAsync(http, [5], Cancel);
        Assert.Equal(HttpStatusCode.Created, afterExpiry);
    }

    [Fact]
    public async Task Upload_OverAccountBytes_QuotaExceededAndTooLargeForTheQuota413()
    {
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings
        {
            Settings = new Dictionary<string, string> { ["Blobs:MaxBytesPerAccount"] = "1000" },
        }, Cancel);
        var owner = await TestAccounts.RegisterAsync(silo);
        using var http = owner.CreateClient(silo);

        var (first, _) = await Blobs.UploadAsync(http, new byte[600], Cancel);
        using var declared = await http.PostAsync("/v1/blobs", Blobs.Content(new byte[500]), Cancel);
        using var streamed = await http.PostAsync("/v1/blobs", new StreamContent(new UnknownLengthStream(new byte[500])), Cancel);
        using var never = await http.PostAsync("/v1/blobs", Blobs.Content(new byte[1001]), Cancel);
        var (fits, _) = await Blobs.UploadAsync(http, new byte[400], Cancel);

        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Equal(HttpStatusCode.TooManyRequests, declared.StatusCode);
        Assert.Equal("blob_quota_exceeded", await Provisioning.ErrorOf(declared, Cancel));
        Assert.NotNull(declared.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.TooManyRequests, streamed.StatusCode);
        Assert.Equal("blob_quota_exceeded", await Provisioning.ErrorOf(streamed, Cancel));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, never.StatusCode);
        Assert.Equal("payload_too_large", await Provisioning.ErrorOf(never, Cancel));
        Assert.Equal(HttpStatusCode.Created, fits);
    }

    [Fact]
    public async Task Download_SevenDaysAfterUpload_NotFoundButServedJustBefore()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time }, Cancel);
        var device = await TestAccounts.RegisterAsync(silo);
        using var http = device.CreateClient(silo);
        var content = RandomNumberGenerator.GetBytes(100);
        var uploadedAt = time.GetUtcNow();
        var (_, created) = await Blobs.UploadAsync(http, content, Cancel);
        var path = $"/v1/blobs/{(string)created["blobId"]!}";

        time.Advance(TimeSpan.FromDays(7) - TimeSpan.FromMilliseconds(1));
        using var justBefore = await http.GetAsync(path, Cancel);
        var bytes = await justBefore.Content.ReadAsByteArrayAsync(Cancel);
        time.Advance(TimeSpan.FromMilliseconds(1));
        using var expired = await http.GetAsync(path, Cancel);

        Assert.Equal((uploadedAt + TimeSpan.FromDays(7)).ToUnixTimeMilliseconds(), (long)created["expiresAt"]!);
        Assert.Equal(HttpStatusCode.OK, justBefore.StatusCode);
        Assert.Equal(content, bytes);
        Assert.Equal(HttpStatusCode.NotFound, expired.StatusCode);
    }
}

internal static class Blobs
{
    public static ByteArrayContent Content(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    public static async Task<(HttpStatusCode Status, JsonObject Body)> UploadAsync(HttpClient http, byte[] bytes, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsync("/v1/blobs", Content(bytes), cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        return response.IsSuccessStatusCode
            ? (response.StatusCode, body!)
            : throw new InvalidOperationException($"upload failed: {(int)response.StatusCode} {body?.ToJsonString()}");
    }
}

/// <summary>A stream that hides its length, so HttpClient sends it chunked (no Content-Length).</summary>
internal sealed class UnknownLengthStream(byte[] content) : Stream
{
    private int position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        // Small pieces, as a slow client would send them.
        var n = Math.Min(Math.Min(count, 4096), content.Length - position);
        Array.Copy(content, position, buffer, offset, n);
        position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
