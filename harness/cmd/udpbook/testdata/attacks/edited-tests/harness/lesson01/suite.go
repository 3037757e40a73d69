// Package lesson01 is emptied in the student's clone.
package lesson01
