using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;

namespace Cluster.Silo.Push;

/// <summary>
/// The push queue, the Web Push sender and the rule on which push endpoints a device may register; section
/// <c>Push:WebPush</c>. Web Push is on when the VAPID keys are set; they are checked at start and never logged.
/// </summary>
public sealed class WebPushOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Push:WebPush";

    /// <summary>The VAPID <c>sub</c> claim: <c>mailto:</c> or <c>https:</c> contact of the operator (RFC 8292 §2.1). Default: none.</summary>
    [MaxLength(256)]
    public string? VapidSubject { get; set; }

    /// <summary>The VAPID public key: the uncompressed P-256 point (65 bytes), base64url. Default: none (Web Push off).</summary>
    [MaxLength(128)]
    public string? VapidPublicKey { get; set; }

    /// <summary>The VAPID private key: the P-256 scalar (32 bytes), base64url; a secret. Default: none (Web Push off).</summary>
    [MaxLength(128)]
    public string? VapidPrivateKey { get; set; }

    /// <summary>The longest endpoint URL a device may register, in characters. Default: 1024.</summary>
    [Range(16, 8192)]
    public int MaxEndpointLength { get; set; } = 1024;

    /// <summary>
    /// If not empty, the only hosts (or their subdomains, by suffix) an endpoint may name, for instance
    /// <c>fcm.googleapis.com</c>, <c>updates.push.services.mozilla.com</c>, <c>web.push.apple.com</c>. Default: empty (any public host).
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>
    /// Test silos only: allows <c>http://</c> endpoints on loopback addresses. In production every endpoint is https and
    /// every address it resolves to must be public. Default: false.
    /// </summary>
    public bool AllowHttpLoopback { get; set; }

    /// <summary>The most wake-ups waiting in this silo's queue; past it new ones are dropped and counted. Default: 10000.</summary>
    [Range(1, 10_000_000)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>How many wake-ups this silo sends at once. Default: 4.</summary>
    [Range(1, 256)]
    public int Concurrency { get; set; } = 4;

    /// <summary>How long one request to a Web Push service may take (FCM and APNs have their own); past it the attempt counts as transient. Default: 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts per wake-up on transient errors (timeouts, 429, 5xx), with doubling delays. Default: 3.</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The delay before the second attempt; each later one waits twice as long. Default: 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether the VAPID keys are set.</summary>
    public bool Enabled => !string.IsNullOrEmpty(VapidPublicKey) || !string.IsNullOrEmpty(VapidPrivateKey);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }

        if (VapidSubject is null || !(VapidSubject.StartsWith("mailto:", StringComparison.Ordinal) || VapidSubject.StartsWith("https://", StringComparison.Ordinal)))
        {
            yield return new ValidationResult("Push:WebPush:VapidSubject must be a mailto: or https: contact", [nameof(VapidSubject)]);
        }

        string? problem = null;
        try
        {
            using var key = Vapid.CreateKey(this);
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException or ArgumentException)
        {
            // The keys themselves are never put in the message.
            problem = "Push:WebPush:VapidPublicKey and VapidPrivateKey must be a matching base64url P-256 key pair (65-byte point, 32-byte scalar)";
        }

        if (problem is not null)
        {
            yield return new ValidationResult(problem, [nameof(VapidPrivateKey)]);
        }
    }
}
