using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Cluster.Client.Provisioning;
using Cluster.Signal;

namespace Cluster.Cli.Provisioning;

/// <summary>How to run <c>provision</c>.</summary>
/// <param name="Server">The silo's HTTP(S) base address.</param>
/// <param name="Invert">Draw the QR code for a light terminal background.</param>
public sealed record ProvisionSettings(Uri Server, bool Invert = false);

/// <summary>
/// <c>provision</c>: what a new device does in steps 1 and 2 of linking. Opens <c>/v1/provisioning</c>, shows the
/// address it is given (with a fresh identity key) as a QR code, and waits for the primary's provisioning message.
/// The message is client-encrypted; this tool reports that it arrived and how long it is.
/// The socket protocol is the SDK's (<see cref="ProvisioningSocket"/>); this file owns only the terminal side.
/// </summary>
public static class ProvisionCommand
{
    /// <summary>The line that carries the address, as <c>Provisioning address: &lt;address&gt;</c>.</summary>
    public const string AddressLinePrefix = "Provisioning address: ";

    /// <summary>The line that carries the link the QR code holds.</summary>
    public const string LinkLinePrefix = "Link: ";

    private const string NotJson = "The server sent a frame that is not JSON.";

    /// <summary>Runs the flow; returns <see cref="ExitCodes.Success"/> once the provisioning message arrived.</summary>
    /// <param name="settings">Where to connect and how to draw.</param>
    /// <param name="output">Where the QR code and progress go.</param>
    /// <param name="cancellationToken">Gives up waiting.</param>
    public static async Task<int> RunAsync(ProvisionSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        var identity = ECKeyPair.Generate();
        ProvisioningSocket socket;
        try
        {
            socket = await ProvisioningSocket.OpenAsync(settings.Server, cancellationToken);
        }
        catch (WebSocketException ex)
        {
            output.WriteLine($"Could not open {SocketUri(settings.Server)}: {ex.Message}");
            return ExitCodes.Failure;
        }
        catch (ProvisioningSocketException ex)
        {
            output.WriteLine($"The server did not send a provisioning address{ClosedBecause(ex.CloseStatus, ex.CloseStatusDescription)}.");
            return ExitCodes.Failure;
        }
        catch (JsonException)
        {
            output.WriteLine(NotJson);
            return ExitCodes.Failure;
        }

        await using (socket)
        {
            var link = LinkUri.Create(socket.Address, identity.PublicKey.Span);
            output.WriteLine(AddressLinePrefix + socket.Address);
            output.WriteLine("Scan this code with the primary device:");
            output.WriteLine();
            output.WriteLine(TerminalQrCode.Render(link, settings.Invert));
            output.WriteLine(LinkLinePrefix + link);
            output.WriteLine("Waiting for the provisioning message (the address expires after 10 minutes)...");
            output.Flush();

            try
            {
                if (await socket.ReceiveBodyAsync(cancellationToken) is not { } body)
                {
                    output.WriteLine($"No provisioning message arrived{ClosedBecause(socket.CloseStatus, socket.CloseStatusDescription)}.");
                    return ExitCodes.Failure;
                }

                output.WriteLine($"Provisioning message arrived: {Encoding.UTF8.GetByteCount(body)} bytes.");
                return ExitCodes.Success;
            }
            catch (ProvisioningSocketException)
            {
                output.WriteLine($"No provisioning message arrived{ClosedBecause(socket.CloseStatus, socket.CloseStatusDescription)}.");
                return ExitCodes.Failure;
            }
            catch (WebSocketException ex)
            {
                output.WriteLine($"The provisioning socket failed: {ex.Message}");
                return ExitCodes.Failure;
            }
            catch (JsonException)
            {
                output.WriteLine(NotJson);
                return ExitCodes.Failure;
            }
        }
    }

    /// <summary><c>http://host/base</c> becomes <c>ws://host/base/v1/provisioning</c>.</summary>
    public static Uri SocketUri(Uri server) => ProvisioningSocket.SocketUri(server);

    private static string ClosedBecause(WebSocketCloseStatus? closeStatus, string? description) => closeStatus is { } status
        ? $" (the server closed the socket: {(int)status} {description})"
        : "";
}
