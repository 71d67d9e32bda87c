using System.ComponentModel.DataAnnotations;

namespace Cluster.Silo.Verification;

/// <summary>How verification codes reach the phone; section <c>VerificationSender</c>.</summary>
public sealed class VerificationSenderOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "VerificationSender";

    /// <summary>
    /// <c>Development</c> (the code goes to the log and to a file, NOT FOR PRODUCTION) or <c>Webhook</c> (an HTTP
    /// POST to <see cref="WebhookUrl"/>). Default: Development. Cluster mode refuses to start with Development unless
    /// <see cref="AllowDevelopmentInCluster"/> is set.
    /// </summary>
    [RegularExpression("^(Development|Webhook)$")]
    public string Kind { get; set; } = "Development";

    /// <summary>Lets cluster mode (PostgreSQL) run the development sender, for test clusters. Default: false.</summary>
    public bool AllowDevelopmentInCluster { get; set; }

    /// <summary>
    /// Where the development sender writes each number's latest code (<c>{number}.code</c>, e.g. <c>+15551234567.code</c>).
    /// Default: <c>cluster-verification-codes</c> under the system temp directory.
    /// </summary>
    public string DevelopmentDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "cluster-verification-codes");

    /// <summary>The webhook's URL; <c>{number}</c> is replaced by the URL-escaped number. Default: none (required for Webhook).</summary>
    public string? WebhookUrl { get; set; }

    /// <summary>
    /// The webhook's JSON body; <c>{number}</c> and <c>{code}</c> are replaced (JSON-escaped).
    /// Default: <c>{"to":"{number}","code":"{code}"}</c>.
    /// </summary>
    public string WebhookBodyTemplate { get; set; } = """{"to":"{number}","code":"{code}"}""";

    /// <summary>A bearer token sent as <c>Authorization</c>, if the provider needs one. Default: none.</summary>
    public string? WebhookBearerToken { get; set; }

    /// <summary>How long one webhook attempt may take. Default: 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Attempts after the first when the webhook fails (network error, timeout, 5xx, 429). Default: 2.</summary>
    [Range(0, 5)]
    public int WebhookRetries { get; set; } = 2;
}

/// <summary>Refuses the development sender in cluster mode (unless allowed) and a webhook without a valid URL.</summary>
internal sealed class VerificationSenderOptionsValidator(IConfiguration configuration) : IValidateOptions<VerificationSenderOptions>
{
    public ValidateOptionsResult Validate(string? name, VerificationSenderOptions options)
    {
        var cluster = string.Equals(configuration["Cluster:Storage"], "PostgreSql", StringComparison.OrdinalIgnoreCase);
        if (options.Kind == "Development" && cluster && !options.AllowDevelopmentInCluster)
        {
            return ValidateOptionsResult.Fail(
                "VerificationSender:Kind: the Development sender is not for production and is refused in cluster mode; configure Webhook, or set VerificationSender:AllowDevelopmentInCluster=true for a test cluster.");
        }

        if (options.Kind == "Webhook"
            && (!Uri.TryCreate(options.WebhookUrl?.Replace("{number}", "x", StringComparison.Ordinal), UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http")))
        {
            return ValidateOptionsResult.Fail("VerificationSender:WebhookUrl: an absolute http(s) URL is required for the Webhook sender.");
        }

        return ValidateOptionsResult.Success;
    }
}
