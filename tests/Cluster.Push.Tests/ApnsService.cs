using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Cluster.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cluster.Push.Tests;

/// <summary>One notification the fake APNs accepted: the path's device token, the headers that matter, the payload and the provider token.</summary>
internal sealed record ReceivedApns(string DeviceToken, string PushType, int Priority, string Topic, long Expiration, string? CollapseId, JsonObject Payload, ProviderJwt ProviderToken);

/// <summary>
/// A local APNs provider API (HTTP/2 only, h2c with prior knowledge on loopback), checking what Apple documents for
/// <c>POST /3/device/{token}</c> with token-based authentication: HTTP/2; <c>authorization: bearer</c> an ES256 JWT
/// with this key's <c>kid</c>, the team as <c>iss</c>, an <c>iat</c> under an hour old, verifying with the test's key;
/// <c>apns-push-type</c> alert, background or voip, <c>apns-topic</c> the bundle id (with <c>.voip</c> for voip only),
/// <c>apns-priority</c> 10 or 5 (5 for background), a numeric <c>apns-expiration</c>, <c>apns-collapse-id</c> at most
/// 64 bytes; a JSON payload whose <c>aps</c> matches the push type (background: <c>content-available</c> 1 and no
/// alert; alert: an alert) and which holds nothing but <c>aps</c>, <c>v</c>, <c>kind</c> and <c>callId</c>. A request
/// that fails a check is answered 400 and recorded as a failure.
/// </summary>
internal sealed class ApnsService : LocalPushService<ReceivedApns>
{
    public const string KeyId = "ABC123DEFG";
    public const string TeamId = "DEF123GHIJ";
    public const string Topic = "org.example.cluster";

    private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private ApnsService()
    {
    }

    /// <summary>Statuses to answer with, in order (with APNs' <c>reason</c> body); 200 once empty.</summary>
    public ConcurrentQueue<(int Status, string Reason)> Answers { get; } = new();

    /// <summary>The time the provider token's <c>iat</c> is checked against (the silo's fake clock).</summary>
    public required TimeProvider Time { get; init; }

    public static async Task<ApnsService> StartAsync(TimeProvider time)
    {
        var service = new ApnsService { Time = time };
        await service.StartAsync(http2Only: true, app => app.MapPost("/3/device/{token}", service.HandleAsync));
        return service;
    }

    /// <summary>Silo settings that turn APNs on against this fake (the .p8 key as its PEM text).</summary>
    public Dictionary<string, string> SiloSettings() => new()
    {
        ["Push:Apns:PrivateKey"] = key.ExportPkcs8PrivateKeyPem(),
        ["Push:Apns:KeyId"] = KeyId,
        ["Push:Apns:TeamId"] = TeamId,
        ["Push:Apns:Topic"] = Topic,
        ["Push:Apns:Endpoint"] = Origin,
    };

    /// <summary>A device token of today's shape: 32 bytes, hex.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public static JsonObject Subscription(string token, string? voipToken = null) => new() { ["kind"] = "apns", ["token"] = token, ["voipToken"] = voipToken };

    private async Task HandleAsync(HttpContext context, string token)
    {
        if (await HoldIfHungAsync(context))
        {
            return;
        }

        var headers = context.Request.Headers;
        var authorization = headers.Authorization.ToString();
        var jwt = authorization.StartsWith("bearer ", StringComparison.Ordinal) ? ProviderJwt.Parse(authorization["bearer ".Length..]) : null;
        JsonObject? payload = null;
        try
        {
            payload = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
        }

        string pushType = headers["apns-push-type"].ToString(), topic = headers["apns-topic"].ToString();
        var priority = int.TryParse(headers["apns-priority"], out var p) ? p : -1;
        var expiration = long.TryParse(headers["apns-expiration"], out var e) ? e : -1;
        var collapseId = headers.TryGetValue("apns-collapse-id", out var c) ? c.ToString() : null;
        var aps = payload?["aps"] as JsonObject;
        var problem = context.Request.Protocol != "HTTP/2" ? $"{context.Request.Protocol}, not HTTP/2"
            : CheckProviderToken(jwt)
            ?? (pushType is not ("alert" or "background" or "voip") ? $"apns-push-type {pushType}"
            : topic != (pushType == "voip" ? Topic + ".voip" : Topic) ? $"apns-topic {topic} for {pushType}"
            : priority is not (5 or 10) || (pushType == "background" && priority != 5) ? $"apns-priority {priority} for {pushType}"
            : expiration < 0 ? "apns-expiration is not a number"
            : collapseId is { Length: > 64 } ? "apns-collapse-id over 64 bytes"
            : payload is null || payload.Any(p => p.Key is not ("aps" or "v" or "kind" or "callId")) ? "payload holds more than aps, v, kind, callId"
            : pushType == "background" && ((int?)aps?["content-available"] != 1 || aps.ContainsKey("alert")) ? "background without content-available 1 or with an alert"
            : pushType == "alert" && aps?["alert"] is null ? "alert without aps.alert"
            : null);
        if (problem is not null)
        {
            Refuse(problem);
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        Accept(new ReceivedApns(token, pushType, priority, topic, expiration, collapseId, payload!, jwt!));
        if (Answers.TryDequeue(out var answer))
        {
            context.Response.StatusCode = answer.Status;
            await context.Response.WriteAsJsonAsync(new JsonObject { ["reason"] = answer.Reason });
            return;
        }

        context.Response.Headers["apns-id"] = Guid.NewGuid().ToString();
    }

    private string? CheckProviderToken(ProviderJwt? jwt)
    {
        if (jwt is null || (string?)jwt.Header["alg"] != "ES256" || (string?)jwt.Header["kid"] != KeyId)
        {
            return "authorization is not a bearer ES256 JWT with the key's kid";
        }

        if (!key.VerifyData(jwt.SigningInput, jwt.Signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            return "provider token signature does not verify";
        }

        var age = Time.GetUtcNow().ToUnixTimeSeconds() - ((long?)jwt.Claims["iat"] ?? long.MinValue / 2);
        return (string?)jwt.Claims["iss"] != TeamId ? "iss is not the team id"
            : age is < -60 or >= 3600 ? $"iat is {age} s old, not within the hour"
            : null;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        key.Dispose();
    }
}
