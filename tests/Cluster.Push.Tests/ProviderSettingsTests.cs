using System.Security.Cryptography;
using Cluster.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>
/// Web Push, FCM and APNs settings are checked at start: a bad one stops the silo with a message naming the key, never a
/// secret's value; and no log entry of a silo that uses all three, failures included, holds a key or a token.
/// </summary>
public sealed class ProviderSettingsTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("apns key id", "Push:Apns:KeyId")]
    [InlineData("apns topic", "Push:Apns:Topic")]
    [InlineData("apns rsa key", "Push:Apns:PrivateKey")]
    [InlineData("fcm private key", "private_key")]
    [InlineData("fcm not json", "Push:Fcm")]
    [InlineData("fcm missing file", "Push:Fcm:ServiceAccountFile")]
    [InlineData("webpush private key", "Push:WebPush:VapidPublicKey")]
    [InlineData("webpush subject", "Push:WebPush:VapidSubject")]
    public async Task Start_BadProviderSetting_FailsNamingKeyNotValue(string setting, string named)
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsa = RSA.Create(2048);
        var p8 = ec.ExportPkcs8PrivateKeyPem();
        var apns = new Dictionary<string, string>
        {
            ["Push:Apns:PrivateKey"] = p8,
            ["Push:Apns:KeyId"] = "ABC123DEFG",
            ["Push:Apns:TeamId"] = "DEF123GHIJ",
            ["Push:Apns:Topic"] = "org.example.app",
        };
        string secret;
        var settings = setting switch
        {
            "apns key id" => With(apns, "Push:Apns:KeyId", "short", out secret, p8),
            "apns topic" => With(apns, "Push:Apns:Topic", "not a bundle id!", out secret, p8),
            "apns rsa key" => With(apns, "Push:Apns:PrivateKey", rsa.ExportPkcs8PrivateKeyPem(), out secret, rsa.ExportPkcs8PrivateKeyPem()),
            "fcm private key" => With([], "Push:Fcm:ServiceAccountJson", "{\"type\":\"service_account\",\"project_id\":\"p\",\"client_email\":\"a@b\",\"private_key\":\"SECRET-KEY-TEXT\"}", out secret, "SECRET-KEY-TEXT"),
            "webpush private key" => With([], "Push:WebPush:VapidPrivateKey", "SECRETxNOTxAxP256xSCALAR", out secret, "SECRETxNOTxAxP256xSCALAR"),
            "webpush subject" => With([], "Push:WebPush:VapidSubject", "ops.example.org", out secret, "SECRET-UNUSED"),
            "fcm not json" => With([], "Push:Fcm:ServiceAccountJson", "SECRET-NOT-JSON", out secret, "SECRET-NOT-JSON"),
            _ => With([], "Push:Fcm:ServiceAccountFile", "/nonexistent/SECRET-PATH.json", out secret, "SECRET-PATH"),
        };

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel, settings));

        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1], failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_EveryKindUsedThroughFailures_NoLogEntryHoldsAKeyOrToken()
    {
        var logs = new LogCapture(LogLevel.Trace);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var web = await WebPushService.StartAsync();
        await using var fcm = await FcmService.StartAsync();
        await using var apns = await ApnsService.StartAsync(time);
        web.Statuses.Enqueue(500);
        fcm.Answers.Enqueue((401, "THIRD_PARTY_AUTH_ERROR"));
        apns.Answers.Enqueue((403, "ExpiredProviderToken"));
        var settings = Push.Settings(Push.Together(fcm.SiloSettings(), apns.SiloSettings()));
        settings["Logging:LogLevel:Default"] = "Trace";
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Time = time, Settings = settings, Services = logs.AddTo }, Cancel);
        var (fcmToken, apnsToken) = (FcmService.NewToken(), ApnsService.NewToken());
        using var toWeb = await Push.PairAsync(silo, web.Subscription(), Cancel);
        using var toFcm = await Push.PairAsync(silo, FcmService.Subscription(fcmToken), Cancel);
        using var toApns = await Push.PairAsync(silo, ApnsService.Subscription(apnsToken), Cancel);

        foreach (var pair in new[] { toWeb, toFcm, toApns })
        {
            await Messages.SendOkAsync(pair.Sender, pair.Bob.AccountId, Messages.Body([pair.Bob], "hello"), Cancel);
        }

        // Each kind's first answer is a failure (500, a revoked access token, an expired provider token), then it is sent.
        await web.NextAsync(Cancel);
        await web.NextAsync(Cancel);
        var fcmPushes = new[] { await fcm.NextAsync(Cancel), await fcm.NextAsync(Cancel) };
        var apnsPushes = new[] { await apns.NextAsync(Cancel), await apns.NextAsync(Cancel) };
        string[] secrets =
        [
            settings["Push:WebPush:VapidPrivateKey"],
            KeyLine((string)System.Text.Json.Nodes.JsonNode.Parse(settings["Push:Fcm:ServiceAccountJson"])!["private_key"]!),
            KeyLine(settings["Push:Apns:PrivateKey"]),
            WebPushService.B64(web.Auth),
            fcmToken,
            apnsToken,
            .. fcmPushes.Select(p => p.AccessToken),
            .. apnsPushes.Select(p => p.ProviderToken.Text),
        ];
        var entries = logs.Entries;

        Assert.NotEmpty(entries);
        Assert.All(entries, entry =>
        {
            var text = entry + " " + entry.Exception;
            Assert.All(secrets, secret => Assert.DoesNotContain(secret, text, StringComparison.Ordinal));
        });
    }

    /// <summary>A PEM key's first line of key material (what must never show).</summary>
    private static string KeyLine(string pem) => pem.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1];

    /// <summary><paramref name="baseline"/> with one setting changed; <paramref name="secret"/> is what must not be in the message (for a PEM, its second line is key material).</summary>
    private static Dictionary<string, string> With(Dictionary<string, string> baseline, string key, string value, out string secret, string mustNotShow)
    {
        secret = mustNotShow.Contains('\n', StringComparison.Ordinal) ? mustNotShow : "-\n" + mustNotShow;
        return new Dictionary<string, string>(baseline) { [key] = value };
    }
}
