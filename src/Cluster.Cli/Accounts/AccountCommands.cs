using System.Globalization;
using System.Security.Cryptography;
using Cluster.Client;
using Cluster.Client.Accounts;
using Cluster.Client.Keys;
using Cluster.Signal;

namespace Cluster.Cli.Accounts;

/// <summary>
/// <c>verify</c> (ask the server to send a number a code), <c>register</c> (register the number with that code and
/// fresh keys) and <c>delete-account</c>, so a person can try the account's life from a terminal. The protocol is the
/// SDK's (<see cref="ClusterClient.RequestVerificationCodeAsync"/>, <see cref="ClusterClient.RegisterAsync"/>,
/// <see cref="ClusterClient.DeleteAccountAsync"/>); this file
/// owns only the terminal side. The primary's secrets are printed once, for the person to keep.
/// </summary>
public static class AccountCommands
{
    /// <summary><c>verify NUMBER</c>: has a code sent to the number.</summary>
    public static Task<int> VerifyAsync(Uri server, string number, TextWriter output, CancellationToken cancellationToken) =>
        RunAsync(server, null, output, async client =>
        {
            var sent = await client.RequestVerificationCodeAsync(number, cancellationToken);
            output.WriteLine($"A verification code was sent to {sent.AccountId}; it expires at {DateTimeOffset.FromUnixTimeMilliseconds(sent.ExpiresAt).ToString("u", CultureInfo.InvariantCulture)}.");
            output.WriteLine($"Then: cluster register {number} CODE");
        });

    /// <summary><c>delete-account NUMBER PASSWORD</c>: deletes the account as its primary device.</summary>
    public static Task<int> DeleteAccountAsync(Uri server, string number, string password, TextWriter output, CancellationToken cancellationToken) =>
        RunAsync(server, new DeviceCredentials(number, 1, password), output, async client =>
        {
            await client.DeleteAccountAsync(cancellationToken);
            output.WriteLine($"Deleted {number}: every device is logged out and nothing of the account is kept. The number can be registered again.");
        });

    /// <summary>Runs one SDK call as a command: a refusal or an unreachable server is reported and exits 1.</summary>
    private static async Task<int> RunAsync(Uri server, DeviceCredentials? credentials, TextWriter output, Func<ClusterClient, Task> call)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var client = new ClusterClient(server, credentials);
        try
        {
            await call(client);
            return ExitCodes.Success;
        }
        catch (RegistrationLockedException ex)
        {
            output.WriteLine($"Refused: {ex.ServerMessage}");
            output.WriteLine("Register again with the same code and --pin PIN (the code stays good until it expires),");
            output.WriteLine($"or wait {ex.TimeRemaining.TotalDays.ToString("0.#", CultureInfo.InvariantCulture)} days for the lock to lapse.");
            return ExitCodes.Failure;
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

    /// <summary>
    /// <c>register NUMBER CODE [--pin PIN]</c>: registers the number with fresh keys, or moves a registered number to them
    /// (a re-registration: its other devices are logged out); prints the device's secrets.
    /// </summary>
    public static Task<int> RegisterAsync(Uri server, string number, string code, string? name, TextWriter output, CancellationToken cancellationToken, string? pin = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var identity = ECKeyPair.Generate();
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        var registrationId = RandomNumberGenerator.GetInt32(1, 16381);
        var signedPreKey = ECKeyPair.Generate().PublicKey.ToArray();
        // A KEM key in libsignal's format (0x08 || 1568 bytes). The terminal has no Kyber: random bytes that pass the
        // server's format check, so this account is for trying the flow, not for receiving real PQXDH sessions.
        var kem = RandomNumberGenerator.GetBytes(1569);
        kem[0] = 0x08;
        return RunAsync(server, null, output, async client =>
        {
            var device = await client.RegisterAsync(
                new RegistrationRequest
                {
                    AccountId = number,
                    Password = password,
                    RegistrationId = registrationId,
                    Name = name ?? "terminal",
                    VerificationCode = code,
                    RegistrationLock = pin,
                    IdentityKey = identity.PublicKey.ToArray(),
                    SignedPreKey = new SignedPreKey(1, signedPreKey, identity.Sign(signedPreKey)),
                    KemLastResortKey = new SignedPreKey(1, kem, identity.Sign(kem)),
                },
                cancellationToken);
            output.WriteLine($"Registered {device.AccountId} device {device.DeviceId.ToString(CultureInfo.InvariantCulture)}.");
            output.WriteLine($"Login: {device.AccountId}.{device.DeviceId.ToString(CultureInfo.InvariantCulture)}");
            output.WriteLine($"Password: {password}");
            output.WriteLine($"Registration id: {registrationId.ToString(CultureInfo.InvariantCulture)}");
            output.WriteLine($"Identity public key: {Convert.ToBase64String(identity.PublicKey.Span)}");
            output.WriteLine("Keep the password: the server stores only its hash.");
        });
    }
}
