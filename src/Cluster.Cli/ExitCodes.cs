namespace Cluster.Cli;

/// <summary>What the tool's exit code means.</summary>
public static class ExitCodes
{
    /// <summary>The command did what it was asked (for <c>provision</c>: the provisioning message arrived).</summary>
    public const int Success = 0;

    /// <summary>The command ran and failed: the server could not be reached, or closed before the work was done.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong; the usage was printed.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted (Ctrl+C).</summary>
    public const int Cancelled = 130;
}
