using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cluster.Push.Tests;

/// <summary>One message the fake FCM accepted: the registration token, the data, the Android options and the access token it came with.</summary>
internal sealed record ReceivedFcm(string Token, JsonObject Data, string? Priority, string? Ttl, string? CollapseKey, string AccessToken);

/// <summary>
/// A local FCM HTTP v1 and Google OAuth 2.0 token endpoint, checking what the documented formats require. Token
/// endpoint (<c>POST /token</c>): a form with <c>grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer</c> and an
/// <c>assertion</c> JWT whose RS256 signature verifies with the service account's public key (the test made the key),
/// with <c>kid</c> the key id, <c>iss</c> the account's e-mail, <c>scope</c> firebase.messaging, <c>aud</c> the token
/// URI and at most an hour between <c>iat</c> and <c>exp</c>; it answers a fresh access token. Send
/// (<c>POST /v1/projects/{project}/messages:send</c>): the project, <c>Authorization: Bearer</c> with a token it
/// issued, JSON, a <c>message</c> with a <c>token</c>, string-valued <c>data</c> only (no <c>notification</c>), and
/// <c>android.priority</c>/<c>ttl</c>. A request that fails a check is answered 400 and recorded as a failure.
/// </summary>
internal sealed class FcmService : LocalPushService<ReceivedFcm>
{
    public const string ProjectId = "cluster-test";
    private const string KeyId = "0123456789abcdef0123456789abcdef01234567";
    private const string ClientEmail = "push@cluster-test.iam.gserviceaccount.com";

    private readonly RSA key = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, bool> issued = new();
    private int tokenRequests;

    private FcmService()
    {
    }

    /// <summary>Access tokens issued so far.</summary>
    public int TokenRequests => Volatile.Read(ref tokenRequests);

    /// <summary>Statuses to answer sends with, in order (with FCM's error body); 200 once empty.</summary>
    public ConcurrentQueue<(int Status, string? ErrorCode)> Answers { get; } = new();

    public static async Task<FcmService> StartAsync()
    {
        var service = new FcmService();
        await service.StartAsync(http2Only: false, app =>
        {
            app.MapPost("/token", service.TokenAsync);
            app.MapPost("/v1/projects/{project}/{method}", service.SendAsync);
        });
        return service;
    }

    /// <summary>The service account key file's JSON, as the Firebase console gives it (with this fake's token URI).</summary>
    public string ServiceAccountJson() => new JsonObject
    {
        ["type"] = "service_account",
        ["project_id"] = ProjectId,
        ["private_key_id"] = KeyId,
        ["private_key"] = key.ExportPkcs8PrivateKeyPem(),
        ["client_email"] = ClientEmail,
        ["client_id"] = "1234567890",
        ["token_uri"] = Origin + "/token",
    }.ToJsonString();

    /// <summary>Silo settings that turn FCM on against this fake.</summary>
    public Dictionary<string, string> SiloSettings() => new()
    {
        ["Push:Fcm:ServiceAccountJson"] = ServiceAccountJson(),
        ["Push:Fcm:Endpoint"] = Origin,
    };

    /// <summary>A registration token of the shape FCM issues.</summary>
    public static string NewToken() => WebPushService.B64(RandomNumberGenerator.GetBytes(16)) + ":APA91b" + WebPushService.B64(RandomNumberGenerator.GetBytes(100));

    public static JsonObject Subscription(string token) => new() { ["kind"] = "fcm", ["token"] = token };

    private async Task TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var problem = (string?)form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer"
            ? "grant_type is not jwt-bearer"
            : CheckAssertion((string?)form["assertion"] ?? "");
        if (problem is not null)
        {
            Refuse(problem);
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        var token = "ya29.test-" + Interlocked.Increment(ref tokenRequests);
        issued[token] = true;
        await context.Response.WriteAsJsonAsync(new JsonObject { ["access_token"] = token, ["expires_in"] = 3599, ["token_type"] = "Bearer" });
    }

    private string? CheckAssertion(string assertion)
    {
        var jwt = ProviderJwt.Parse(assertion);
        if (jwt is null || (string?)jwt.Header["alg"] != "RS256" || (string?)jwt.Header["kid"] != KeyId)
        {
            return "assertion is not an RS256 JWT with the key's kid";
        }

        if (!key.VerifyData(jwt.SigningInput, jwt.Signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            return "assertion signature does not verify";
        }

        var c = jwt.Claims;
        var lifetime = (long?)c["exp"] - (long?)c["iat"];
        return (string?)c["iss"] != ClientEmail ? "iss is not the client e-mail"
            : (string?)c["scope"] != "https://www.googleapis.com/auth/firebase.messaging" ? "scope is not firebase.messaging"
            : (string?)c["aud"] != Origin + "/token" ? "aud is not the token URI"
            : lifetime is not (> 0 and <= 3600) ? "exp is not within an hour of iat"
            : null;
    }

    private async Task SendAsync(HttpContext context, string project, string method)
    {
        if (await HoldIfHungAsync(context))
        {
            return;
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        var accessToken = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization["Bearer ".Length..] : "";
        JsonNode? body = null;
        try
        {
            body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (System.Text.Json.JsonException)
        {
        }

        var message = body?["message"] as JsonObject;
        var data = message?["data"] as JsonObject;
        var android = message?["android"] as JsonObject;
        var problem = project != ProjectId || method != "messages:send" ? $"path names {project}/{method}"
            : !issued.ContainsKey(accessToken) ? "Authorization is not a Bearer token this service issued"
            : context.Request.ContentType?.StartsWith("application/json", StringComparison.Ordinal) != true ? "Content-Type is not JSON"
            : message is null || (string?)message["token"] is not { Length: > 0 } ? "no message.token"
            : message.ContainsKey("notification") || message.ContainsKey("apns") || message.ContainsKey("webpush") ? "not a data-only Android message"
            : data is null || data.Any(p => p.Value?.GetValueKind() != System.Text.Json.JsonValueKind.String) ? "data is not string-valued"
            : android is null || (string?)android["priority"] is not ("high" or "normal") ? "android.priority is not high or normal"
            : (string?)android["ttl"] is not { } ttl || !ttl.EndsWith('s') || !long.TryParse(ttl[..^1], out _) ? "android.ttl is not a duration in seconds"
            : null;
        if (problem is not null)
        {
            Refuse(problem);
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        Accept(new ReceivedFcm((string)message!["token"]!, data!, (string?)android!["priority"], (string?)android["ttl"], (string?)android["collapse_key"], accessToken));
        if (Answers.TryDequeue(out var answer))
        {
            context.Response.StatusCode = answer.Status;
            var status = answer.Status == 404 ? "NOT_FOUND" : "UNAVAILABLE";
            await context.Response.WriteAsJsonAsync(new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["code"] = answer.Status,
                    ["message"] = "fake error",
                    ["status"] = status,
                    ["details"] = new JsonArray(new JsonObject { ["@type"] = "type.googleapis.com/google.firebase.fcm.v1.FcmError", ["errorCode"] = answer.ErrorCode }),
                },
            });
            return;
        }

        await context.Response.WriteAsJsonAsync(new JsonObject { ["name"] = $"projects/{ProjectId}/messages/{Guid.NewGuid():N}" });
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        key.Dispose();
    }
}
