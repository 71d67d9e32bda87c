using System.ComponentModel.DataAnnotations;

namespace Cluster.Silo.Push;

/// <summary>
/// The FCM HTTP v1 sender; section <c>Push:Fcm</c>. FCM is on when a service account key is given (its JSON inline
/// or the path of the file, for instance a mounted Kubernetes Secret); the key is checked at start and never logged.
/// </summary>
public sealed class FcmOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Push:Fcm";

    /// <summary>The Google service account key file's JSON (a secret). Default: none (FCM off unless <see cref="ServiceAccountFile"/> is set).</summary>
    [MaxLength(64 * 1024)]
    public string? ServiceAccountJson { get; set; }

    /// <summary>The path of the Google service account key file (a secret). Default: none.</summary>
    [MaxLength(4096)]
    public string? ServiceAccountFile { get; set; }

    /// <summary>The Firebase project id the messages are sent through. Default: the key's <c>project_id</c>.</summary>
    [MaxLength(128)]
    public string? ProjectId { get; set; }

    /// <summary>The FCM API's origin. Default: <c>https://fcm.googleapis.com</c> (tests point it at a local fake).</summary>
    public Uri Endpoint { get; set; } = new("https://fcm.googleapis.com");

    /// <summary>Where the OAuth 2.0 access token is obtained. Default: the key's <c>token_uri</c> (<c>https://oauth2.googleapis.com/token</c>).</summary>
    public Uri? TokenEndpoint { get; set; }

    /// <summary>How long one request to FCM (or its token endpoint) may take. Default: 10 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest registration token a device may register, in characters. Default: 4096.</summary>
    [Range(64, 16_384)]
    public int MaxTokenLength { get; set; } = 4096;

    /// <summary>Whether a service account key is configured.</summary>
    public bool Enabled => !string.IsNullOrEmpty(ServiceAccountJson) || !string.IsNullOrEmpty(ServiceAccountFile);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }

        if (!string.IsNullOrEmpty(ServiceAccountJson) && !string.IsNullOrEmpty(ServiceAccountFile))
        {
            yield return new ValidationResult("Push:Fcm: set ServiceAccountJson or ServiceAccountFile, not both", [nameof(ServiceAccountJson)]);
            yield break;
        }

        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttps && Endpoint.Scheme != Uri.UriSchemeHttp))
        {
            yield return new ValidationResult("Push:Fcm:Endpoint must be an absolute http(s) URL", [nameof(Endpoint)]);
        }

        var problem = FcmServiceAccount.TryLoad(this, out var account);
        account?.Dispose();
        if (problem is not null)
        {
            // The problem names the setting and the field, never a value of the key.
            yield return new ValidationResult(problem, [nameof(ServiceAccountJson)]);
        }
    }
}
