using System.ComponentModel.DataAnnotations;

namespace Cluster.Silo.Push;

/// <summary>
/// The APNs token-based sender; section <c>Push:Apns</c>. APNs is on when the signing key (the <c>.p8</c> file's PEM
/// text inline, or its path, for instance a mounted Kubernetes Secret) is given; with it the key id, team id and topic
/// are required. All are checked at start; the key is never logged.
/// </summary>
public sealed class ApnsOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Push:Apns";

    /// <summary>The APNs authentication key: the <c>.p8</c> file's PEM text (a secret). Default: none (APNs off unless <see cref="PrivateKeyFile"/> is set).</summary>
    [MaxLength(4096)]
    public string? PrivateKey { get; set; }

    /// <summary>The path of the <c>.p8</c> file (a secret). Default: none.</summary>
    [MaxLength(4096)]
    public string? PrivateKeyFile { get; set; }

    /// <summary>The key's 10-character Key ID (the JWT <c>kid</c>). Default: none.</summary>
    public string? KeyId { get; set; }

    /// <summary>The 10-character Team ID (the JWT <c>iss</c>). Default: none.</summary>
    public string? TeamId { get; set; }

    /// <summary>The app's bundle id (<c>apns-topic</c>; VoIP pushes use it with <c>.voip</c> appended). Default: none.</summary>
    [MaxLength(255)]
    public string? Topic { get; set; }

    /// <summary>The APNs origin. Default: <c>https://api.push.apple.com</c>; development builds use <c>https://api.sandbox.push.apple.com</c>.</summary>
    public Uri Endpoint { get; set; } = new("https://api.push.apple.com");

    /// <summary>How long one request to APNs may take. Default: 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether the signing key is configured.</summary>
    public bool Enabled => !string.IsNullOrEmpty(PrivateKey) || !string.IsNullOrEmpty(PrivateKeyFile);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }

        if (!string.IsNullOrEmpty(PrivateKey) && !string.IsNullOrEmpty(PrivateKeyFile))
        {
            yield return new ValidationResult("Push:Apns: set PrivateKey or PrivateKeyFile, not both", [nameof(PrivateKey)]);
            yield break;
        }

        if (!IsTenAlphanumerics(KeyId))
        {
            yield return new ValidationResult("Push:Apns:KeyId must be the key's 10-character Key ID", [nameof(KeyId)]);
        }

        if (!IsTenAlphanumerics(TeamId))
        {
            yield return new ValidationResult("Push:Apns:TeamId must be the 10-character Team ID", [nameof(TeamId)]);
        }

        if (string.IsNullOrWhiteSpace(Topic) || Topic.Any(c => c is not (>= 'a' and <= 'z') and not (>= 'A' and <= 'Z') and not (>= '0' and <= '9') and not '.' and not '-'))
        {
            yield return new ValidationResult("Push:Apns:Topic must be the app's bundle id", [nameof(Topic)]);
        }

        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttps && Endpoint.Scheme != Uri.UriSchemeHttp))
        {
            yield return new ValidationResult("Push:Apns:Endpoint must be an absolute http(s) URL", [nameof(Endpoint)]);
        }

        string? problem = null;
        try
        {
            using var key = ApnsProviderToken.LoadKey(this);
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            problem = "Push:Apns:PrivateKey (or PrivateKeyFile) must be an APNs .p8 key: a PEM PKCS#8 P-256 private key";
        }

        if (problem is not null)
        {
            yield return new ValidationResult(problem, [nameof(PrivateKey)]);
        }
    }

    private static bool IsTenAlphanumerics(string? value) =>
        value is { Length: 10 } && value.All(c => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9'));
}
