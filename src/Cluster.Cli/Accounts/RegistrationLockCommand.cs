using Cluster.Client;

namespace Cluster.Cli.Accounts;

/// <summary>
/// <c>registration-lock set PIN | remove</c>, as the primary (<c>--login</c>, <c>--password</c>): the terminal side of
/// <see cref="ClusterClient.SetRegistrationLockAsync"/> and <see cref="ClusterClient.RemoveRegistrationLockAsync"/>.
/// Never prints the PIN.
/// </summary>
public static class RegistrationLockCommand
{
    /// <summary>Sets the lock to <paramref name="pin"/>, or removes it when <paramref name="pin"/> is null.</summary>
    public static async Task<int> RunAsync(Uri server, string login, string password, string? pin, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var dot = login.LastIndexOf('.');
        if (dot < 1 || !int.TryParse(login.AsSpan(dot + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var deviceId))
        {
            output.WriteLine($"--login must be NUMBER.DEVICE, e.g. +15551234567.1, got '{login}'");
            return ExitCodes.Usage;
        }

        var credentials = new DeviceCredentials(login[..dot], deviceId, password);

        using var client = new ClusterClient(server, credentials);
        try
        {
            if (pin is null)
            {
                await client.RemoveRegistrationLockAsync(cancellationToken);
                output.WriteLine($"The registration lock of {credentials.AccountId} is removed.");
            }
            else
            {
                await client.SetRegistrationLockAsync(pin, cancellationToken);
                output.WriteLine($"The registration lock of {credentials.AccountId} is set: a re-registration must present the PIN");
                output.WriteLine("until the primary has been away 7 days.");
            }

            return ExitCodes.Success;
        }
        catch (ClusterApiException ex)
        {
            output.WriteLine($"The server refused: {ex.Message}");
            return ExitCodes.Failure;
        }
        catch (HttpRequestException ex)
        {
            output.WriteLine($"Could not reach {server}: {ex.Message}");
            return ExitCodes.Failure;
        }
    }
}
