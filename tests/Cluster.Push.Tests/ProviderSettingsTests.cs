using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Push.Tests;

/// <summary>FCM and APNs settings are checked at start: a bad one stops the silo with a message naming the key, never a secret's value.</summary>
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
            "fcm not json" => With([], "Push:Fcm:ServiceAccountJson", "SECRET-NOT-JSON", out secret, "SECRET-NOT-JSON"),
            _ => With([], "Push:Fcm:ServiceAccountFile", "/nonexistent/SECRET-PATH.json", out secret, "SECRET-PATH"),
        };

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => Push.SiloAsync(new FakeTimeProvider(DateTimeOffset.UtcNow), Cancel, settings));

        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1], failure.Message, StringComparison.Ordinal);
    }

    /// <summary><paramref name="baseline"/> with one setting changed; <paramref name="secret"/> is what must not be in the message (for a PEM, its second line is key material).</summary>
    private static Dictionary<string, string> With(Dictionary<string, string> baseline, string key, string value, out string secret, string mustNotShow)
    {
        secret = mustNotShow.Contains('\n', StringComparison.Ordinal) ? mustNotShow : "-\n" + mustNotShow;
        return new Dictionary<string, string>(baseline) { [key] = value };
    }
}
