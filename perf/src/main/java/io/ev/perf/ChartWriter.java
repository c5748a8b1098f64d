/*
 * EV engine: Execute-Verify replication of multi-core services.
 */
package io.ev.perf;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleFunction;

import javax.imageio.ImageIO;

/**
 * A small line-chart writer for {@code bin/ev report}: series of points on a linear or log10 y axis, a linear x
 * axis with ticks at whole numbers (labelled by a function, so that the x axis of a percentile plot can show
 * "99%" at 2), a legend, a title; written as PNG with Java2D and ImageIO, so it needs no display
 * ({@code -Djava.awt.headless=true} works) and no charting library.
 */
final class ChartWriter
{
    private static final int WIDTH = 960;
    private static final int HEIGHT = 600;
    private static final int LEFT = 90;
    private static final int RIGHT = 30;
    private static final int TOP = 50;
    private static final int BOTTOM = 70;
    private static final Color[] COLORS = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
        new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f) };

    private ChartWriter()
    {
    }

    /**
     * One line of a chart.
     *
     * @param name   the legend's text.
     * @param x      x values, ascending.
     * @param y      y values (positive on a log axis; others are skipped), as many as {@code x}.
     * @param dashed draw it dashed (a reference line).
     */
    record Series(String name, double[] x, double[] y, boolean dashed)
    {
    }

    /**
     * Draws the chart and writes it as PNG.
     *
     * @param file        the PNG file to write.
     * @param title       above the plot.
     * @param xLabel      under the x axis.
     * @param yLabel      beside the y axis.
     * @param xTickLabel  the label of the x tick at each whole number.
     * @param logY        log10 y axis (else linear from 0).
     * @param legendBelow the legend in the plot's lower right corner (else upper left).
     * @param series      the lines, at least one with a point.
     * @throws IOException if the file cannot be written.
     */
    static void write(
        final Path file,
        final String title,
        final String xLabel,
        final String yLabel,
        final DoubleFunction<String> xTickLabel,
        final boolean logY,
        final boolean legendBelow,
        final List<Series> series) throws IOException
    {
        final double[] xRange = range(series, true, false);
        final double[] yRange = range(series, false, logY);
        final double xMin = Math.floor(xRange[0]);
        final double xMax = Math.max(xMin + 1, Math.ceil(xRange[1]));
        final double yMin = logY ? Math.floor(Math.log10(yRange[0])) : 0;
        final double yMax = logY ? Math.max(yMin + 1, Math.ceil(Math.log10(yRange[1]))) : niceCeiling(yRange[1]);
        final Plot plot = new Plot(xMin, xMax, yMin, yMax, logY);

        final BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        final Graphics2D g = image.createGraphics();
        try
        {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            drawAxes(g, plot, xTickLabel, logY);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            g.setColor(Color.BLACK);
            g.drawString(title, LEFT, TOP - 20);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            final FontMetrics metrics = g.getFontMetrics();
            g.drawString(xLabel, LEFT + (WIDTH - LEFT - RIGHT - metrics.stringWidth(xLabel)) / 2, HEIGHT - 20);
            final Graphics2D rotated = (Graphics2D)g.create();
            rotated.rotate(-Math.PI / 2);
            rotated.drawString(yLabel, -(TOP + (HEIGHT - TOP - BOTTOM + metrics.stringWidth(yLabel)) / 2), 20);
            rotated.dispose();
            for (int i = 0; i < series.size(); i++)
            {
                drawSeries(g, plot, series.get(i), COLORS[i % COLORS.length]);
            }
            drawLegend(g, series, legendBelow);
        }
        finally
        {
            g.dispose();
        }
        if (!ImageIO.write(image, "png", file.toFile()))
        {
            throw new IOException("no PNG writer in this JVM for " + file);
        }
    }

    private static void drawAxes(
        final Graphics2D g, final Plot plot, final DoubleFunction<String> xTickLabel, final boolean logY)
    {
        final FontMetrics metrics = g.getFontMetrics();
        final int xStep = Math.max(1, (int)Math.ceil((plot.xMax - plot.xMin) / 16));
        for (double x = plot.xMin; x <= plot.xMax + 1e-9; x += xStep)
        {
            final int px = plot.px(x);
            g.setColor(new Color(0xe0e0e0));
            g.drawLine(px, TOP, px, HEIGHT - BOTTOM);
            g.setColor(Color.BLACK);
            final String label = xTickLabel.apply(x);
            g.drawString(label, px - metrics.stringWidth(label) / 2, HEIGHT - BOTTOM + 18);
        }
        final int yTicks = logY ? (int)(plot.yMax - plot.yMin) : 5;
        for (int i = 0; i <= yTicks; i++)
        {
            final double y = plot.yMin + (plot.yMax - plot.yMin) * i / yTicks;
            final int py = plot.pyScaled(y);
            g.setColor(new Color(0xe0e0e0));
            g.drawLine(LEFT, py, WIDTH - RIGHT, py);
            g.setColor(Color.BLACK);
            final String label = number(logY ? Math.pow(10, y) : y);
            g.drawString(label, LEFT - 8 - metrics.stringWidth(label), py + metrics.getAscent() / 2);
        }
        g.drawRect(LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    }

    private static void drawSeries(final Graphics2D g, final Plot plot, final Series series, final Color color)
    {
        final Path2D.Double line = new Path2D.Double();
        boolean started = false;
        for (int i = 0; i < series.x().length; i++)
        {
            final double y = series.y()[i];
            if (!(y > 0) && (plot.logY || Double.isNaN(y)))
            {
                continue;
            }
            final double px = plot.px(series.x()[i]);
            final double py = plot.py(y);
            if (started)
            {
                line.lineTo(px, py);
            }
            else
            {
                line.moveTo(px, py);
                started = true;
            }
        }
        final Stroke stroke = series.dashed() ?
            new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[] {8f, 6f}, 0f) :
            new BasicStroke(2.5f);
        g.setColor(color);
        g.setStroke(stroke);
        g.draw(line);
        if (!series.dashed() && series.x().length <= 32)
        {
            for (int i = 0; i < series.x().length; i++)
            {
                if (series.y()[i] > 0)
                {
                    g.fillOval(plot.px(series.x()[i]) - 4, (int)plot.py(series.y()[i]) - 4, 8, 8);
                }
            }
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static void drawLegend(final Graphics2D g, final List<Series> series, final boolean below)
    {
        final FontMetrics metrics = g.getFontMetrics();
        int width = 0;
        for (final Series s : series)
        {
            width = Math.max(width, metrics.stringWidth(s.name()));
        }
        final int lineHeight = metrics.getHeight() + 4;
        final int height = lineHeight * series.size() + 8;
        final int x = below ? WIDTH - RIGHT - 12 - (width + 50) : LEFT + 12;
        final int y = below ? HEIGHT - BOTTOM - 12 - height : TOP + 12;
        g.setColor(new Color(255, 255, 255, 230));
        g.fillRect(x, y, width + 50, height);
        g.setColor(Color.GRAY);
        g.drawRect(x, y, width + 50, height);
        for (int i = 0; i < series.size(); i++)
        {
            final int rowY = y + 4 + lineHeight * i + lineHeight / 2;
            g.setColor(COLORS[i % COLORS.length]);
            g.setStroke(series.get(i).dashed() ?
                new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[] {6f, 4f}, 0f) :
                new BasicStroke(2.5f));
            g.drawLine(x + 8, rowY, x + 38, rowY);
            g.setStroke(new BasicStroke(1f));
            g.setColor(Color.BLACK);
            g.drawString(series.get(i).name(), x + 44, rowY + metrics.getAscent() / 2 - 1);
        }
    }

    private static double[] range(final List<Series> series, final boolean xs, final boolean positiveOnly)
    {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (final Series s : series)
        {
            for (final double value : xs ? s.x() : s.y())
            {
                if (!Double.isNaN(value) && (!positiveOnly || value > 0))
                {
                    min = Math.min(min, value);
                    max = Math.max(max, value);
                }
            }
        }
        if (min > max)
        {
            throw new IllegalArgumentException("no points to draw in " + series.size() + " series");
        }
        return new double[] {min, max};
    }

    private static double niceCeiling(final double value)
    {
        if (!(value > 0))
        {
            return 1;
        }
        final double magnitude = Math.pow(10, Math.floor(Math.log10(value)));
        for (final double step : new double[] {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10})
        {
            if (step * magnitude >= value * 1.05)
            {
                return step * magnitude;
            }
        }
        return 10 * magnitude;
    }

    /**
     * @return a short label: 1,200 as "1.2k", 3,500,000 as "3.5M", 0.5 as "0.5".
     */
    static String number(final double value)
    {
        final double abs = Math.abs(value);
        if (abs >= 1e6)
        {
            return trim(String.format(Locale.ROOT, "%.2f", value / 1e6)) + "M";
        }
        if (abs >= 1e3)
        {
            return trim(String.format(Locale.ROOT, "%.2f", value / 1e3)) + "k";
        }
        return trim(String.format(Locale.ROOT, "%.2f", value));
    }

    private static String trim(final String decimal)
    {
        return decimal.replaceAll("\\.?0+$", "");
    }

    /**
     * Maps data to pixels; y in log10 units on a log axis.
     */
    private static final class Plot
    {
        final double xMin;
        final double xMax;
        final double yMin;
        final double yMax;
        final boolean logY;

        Plot(final double xMin, final double xMax, final double yMin, final double yMax, final boolean logY)
        {
            this.xMin = xMin;
            this.xMax = xMax;
            this.yMin = yMin;
            this.yMax = yMax;
            this.logY = logY;
        }

        int px(final double x)
        {
            return LEFT + (int)Math.round((x - xMin) / (xMax - xMin) * (WIDTH - LEFT - RIGHT));
        }

        double py(final double y)
        {
            return pyScaled(logY ? Math.log10(y) : y);
        }

        int pyScaled(final double scaled)
        {
            return HEIGHT - BOTTOM - (int)Math.round((scaled - yMin) / (yMax - yMin) * (HEIGHT - TOP - BOTTOM));
        }
    }
}
