using QRCoder;

namespace Cluster.Cli.Provisioning;

/// <summary>QR codes drawn with Unicode half blocks, two modules per character cell, for a terminal.</summary>
public static class TerminalQrCode
{
    /// <summary>Draws <paramref name="text"/> as a QR code with its quiet zone.</summary>
    /// <param name="text">What the code holds.</param>
    /// <param name="invert">
    /// False (default) for a dark terminal background: light modules are drawn as blocks. True for a light background.
    /// </param>
    /// <returns>The code's lines, separated by <c>\n</c>.</returns>
    public static string Render(string text, bool invert = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        using var generator = new QRCodeGenerator();
        // M: room for a phone camera at a slant, while a link of ~120 characters still fits a small code.
        using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.M);
        using var code = new AsciiQRCode(data);
        return code.GetGraphicSmall(drawQuietZones: true, invert: invert, endOfLine: "\n");
    }
}
