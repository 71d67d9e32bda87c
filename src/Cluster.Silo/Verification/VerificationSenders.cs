using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using Cluster.Grains.Observability;

namespace Cluster.Silo.Verification;

/// <summary>Delivers a verification code to a number; true when the provider took it.</summary>
public interface IVerificationSender
{
    Task<bool> SendAsync(string number, string code, CancellationToken cancellationToken);
}

/// <summary>
/// NOT FOR PRODUCTION. Writes each code to the log (a Warning saying so) and to <c>{number}.code</c> in
/// <see cref="VerificationSenderOptions.DevelopmentDirectory"/>, where integration tests, the load generator and the
/// interop suite read it. Owns that directory's files; nothing else.
/// </summary>
internal sealed partial class DevelopmentVerificationSender(IOptions<VerificationSenderOptions> options, ILogger<DevelopmentVerificationSender> logger) : IVerificationSender
{
    /// <summary>The file the development sender writes a number's latest code to.</summary>
    public static string CodeFile(string directory, string number) => Path.Combine(directory, number + ".code");

    public async Task<bool> SendAsync(string number, string code, CancellationToken cancellationToken)
    {
        var directory = options.Value.DevelopmentDirectory;
        Directory.CreateDirectory(directory);
        var file = CodeFile(directory, number);
        var temp = file + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllTextAsync(temp, code, cancellationToken);
        File.Move(temp, file, overwrite: true);
        LogDevelopmentCode(logger, number, code);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "DEVELOPMENT verification sender, NOT FOR PRODUCTION: code for {Number} is {Code}")]
    private static partial void LogDevelopmentCode(ILogger logger, string number, string code);
}

/// <summary>
/// POSTs the code to the configured provider (<see cref="VerificationSenderOptions.WebhookUrl"/>, body from
/// <see cref="VerificationSenderOptions.WebhookBodyTemplate"/>), each attempt bounded by the timeout, retrying network
/// errors, timeouts, 5xx and 429. Logs only the number's outcome, never the code or the body. Holds no state.
/// </summary>
internal sealed partial class WebhookVerificationSender(
    IHttpClientFactory clients, IOptions<VerificationSenderOptions> options, ILogger<WebhookVerificationSender> logger) : IVerificationSender
{
    public const string ClientName = "verification-webhook";

    public async Task<bool> SendAsync(string number, string code, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var url = o.WebhookUrl!.Replace("{number}", Uri.EscapeDataString(number), StringComparison.Ordinal);
        var body = o.WebhookBodyTemplate
            .Replace("{number}", JavaScriptEncoder.Default.Encode(number), StringComparison.Ordinal)
            .Replace("{code}", JavaScriptEncoder.Default.Encode(code), StringComparison.Ordinal);
        var client = clients.CreateClient(ClientName);
        for (var attempt = 0; attempt <= o.WebhookRetries; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(o.WebhookTimeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                if (o.WebhookBearerToken is { } token)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }

                using var response = await client.SendAsync(request, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }

                LogWebhookStatus(logger, number, (int)response.StatusCode, attempt + 1);
                if ((int)response.StatusCode < 500 && response.StatusCode != HttpStatusCode.TooManyRequests)
                {
                    break;
                }
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                LogWebhookFailure(logger, number, e.GetType().Name, attempt + 1);
            }
        }

        ClusterMetrics.VerificationSendFailures.Add(1, new KeyValuePair<string, object?>("sender", "webhook"));
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification webhook answered {Status} for {Number} (attempt {Attempt})")]
    private static partial void LogWebhookStatus(ILogger logger, string number, int status, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Verification webhook failed for {Number} with {Failure} (attempt {Attempt})")]
    private static partial void LogWebhookFailure(ILogger logger, string number, string failure, int attempt);
}
