using System.Security.Cryptography;
using System.Text.Json;

namespace Cluster.Silo.Push;

/// <summary>
/// A Google service account key file (the JSON a Firebase project's console downloads): the account's e-mail, its
/// RSA private key and key id, the project and the token endpoint. Loaded once at start from <see cref="FcmOptions"/>;
/// owns the RSA key (disposed with the sender). Nothing of it is ever logged.
/// </summary>
internal sealed class FcmServiceAccount : IDisposable
{
    private FcmServiceAccount(string clientEmail, string? privateKeyId, RSA key, string projectId, Uri tokenUri)
    {
        ClientEmail = clientEmail;
        PrivateKeyId = privateKeyId;
        Key = key;
        ProjectId = projectId;
        TokenUri = tokenUri;
    }

    public string ClientEmail { get; }

    public string? PrivateKeyId { get; }

    public RSA Key { get; }

    public string ProjectId { get; }

    public Uri TokenUri { get; }

    /// <summary>Loads the key the options name; null and <paramref name="account"/> set, or the problem (naming fields, never values).</summary>
    public static string? TryLoad(FcmOptions options, out FcmServiceAccount? account)
    {
        account = null;
        string json;
        try
        {
            json = !string.IsNullOrEmpty(options.ServiceAccountFile) ? File.ReadAllText(options.ServiceAccountFile) : options.ServiceAccountJson ?? "";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return "Push:Fcm:ServiceAccountFile cannot be read";
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || Text(root, "type") != "service_account")
            {
                return "Push:Fcm: the service account key must be a JSON object with \"type\": \"service_account\"";
            }

            var email = Text(root, "client_email");
            var pem = Text(root, "private_key");
            var project = string.IsNullOrEmpty(options.ProjectId) ? Text(root, "project_id") : options.ProjectId;
            var tokenUri = options.TokenEndpoint?.ToString() ?? Text(root, "token_uri") ?? "https://oauth2.googleapis.com/token";
            if (string.IsNullOrEmpty(email) || string.IsNullOrEmpty(pem))
            {
                return "Push:Fcm: the service account key needs client_email and private_key";
            }

            if (string.IsNullOrEmpty(project) || project.Any(c => c is not (>= 'a' and <= 'z') and not (>= '0' and <= '9') and not '-' and not ':' and not '.'))
            {
                return "Push:Fcm: project_id (or Push:Fcm:ProjectId) must be a Firebase project id";
            }

            if (!Uri.TryCreate(tokenUri, UriKind.Absolute, out var token) || (token.Scheme != Uri.UriSchemeHttps && token.Scheme != Uri.UriSchemeHttp))
            {
                return "Push:Fcm: token_uri (or Push:Fcm:TokenEndpoint) must be an absolute http(s) URL";
            }

            var key = RSA.Create();
            try
            {
                key.ImportFromPem(pem);
                if (key.KeySize < 2048)
                {
                    throw new CryptographicException("too small");
                }
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                key.Dispose();
                return "Push:Fcm: private_key must be a PEM RSA private key of 2048 bits or more";
            }

            account = new FcmServiceAccount(email, Text(root, "private_key_id"), key, project, token);
            return null;
        }
        catch (JsonException)
        {
            return "Push:Fcm: the service account key is not JSON";
        }
    }

    public void Dispose() => Key.Dispose();

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
